import { execFile } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The terraform binary on PATH, if any. */
export function findTerraform(path = process.env.PATH ?? ''): string | undefined {
  for (const directory of path.split(delimiter).filter(Boolean)) {
    const candidate = join(directory, 'terraform');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Where `terraform init` finds the AWS provider without a network (see /work/shared/stack.md). */
export const pluginDirectory = process.env.LEONIDAS_TF_PLUGIN_DIR ?? '/opt/tf-plugins';

/** A loopback port nothing listens on: anything sent there is refused at once. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/**
 * Terraform in a folder of its own: a copy of infra/terraform (and its lock file), so neither .terraform nor
 * any state lands in the repository. It runs with a clean environment: no CLI configuration (the machine's
 * TF_CLI_CONFIG_FILE points at a missing file), no AWS settings or credentials of the person running it, and
 * HOME in the folder so no ~/.aws files are read.
 */
export class TerraformWorkspace {
  constructor(
    readonly binary: string,
    readonly directory: string,
  ) {}

  static create(binary: string, source: string, directory: string): TerraformWorkspace {
    for (const name of readdirSync(source)) {
      if (name.endsWith('.tf') || name === '.terraform.lock.hcl')
        copyFileSync(join(source, name), join(directory, name));
    }
    return new TerraformWorkspace(binary, directory);
  }

  write(name: string, text: string): void {
    writeFileSync(join(this.directory, name), text);
  }

  has(name: string): boolean {
    return existsSync(join(this.directory, name));
  }

  /** Runs terraform; a failure throws with what terraform said. */
  async run(args: string[]): Promise<{ stdout: string; stderr: string }> {
    try {
      return await run(this.binary, args, {
        cwd: this.directory,
        maxBuffer: 256 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: this.directory,
          TF_IN_AUTOMATION: '1',
          TF_INPUT: '0',
          CHECKPOINT_DISABLE: '1',
        },
      });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`terraform ${args.join(' ')} failed:\n${stderr}\n${readable(stdout)}`);
    }
  }
}

/** Terraform's output, its JSON messages (from -json) cut down to what they say. */
function readable(output: string): string {
  return output
    .split('\n')
    .map((line) => {
      try {
        const { diagnostic } = JSON.parse(line) as { diagnostic?: { summary: string; detail?: string } };
        return diagnostic ? `${diagnostic.summary}: ${diagnostic.detail ?? ''}` : '';
      } catch {
        return line;
      }
    })
    .filter(Boolean)
    .join('\n');
}

/**
 * The provider configuration for tests: fake credentials, no account lookup, no metadata service, one attempt,
 * and every service endpoint on a closed loopback port, so a data source or ephemeral resource that would call
 * AWS at plan time fails at once instead of reaching out. The backend becomes local, and the buckets get fixed
 * names so the policies built from them are known in the plan.
 */
export function testOverrides(endpointNames: string[], port: number): string {
  const endpoints = endpointNames.map((name) => `    ${name} = "http://127.0.0.1:${port}"`).join('\n');
  return `terraform {
  backend "local" {}
}

provider "aws" {
  region                      = var.region
  access_key                  = "AKIAIOSFODNN7EXAMPLE"
  secret_key                  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
  # Needs the account lookup skipped above.
  allowed_account_ids = null
  endpoints {
${endpoints}
  }
}

resource "aws_s3_bucket" "uploads" {
  bucket        = "leonidas-uploads-plan-test"
  bucket_prefix = null
}

resource "aws_s3_bucket" "access_logs" {
  bucket        = "leonidas-alb-logs-plan-test"
  bucket_prefix = null
}
`;
}
