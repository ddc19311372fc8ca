terraform {
  # Write-only attributes (the JWT secret never reaches state or plan files) need Terraform 1.11.
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
  # State lives in S3, encrypted and locked by S3's own lock file; bucket, key and region come from
  # `terraform init -backend-config=...` (README, "Deploy it"), so no account's names are written here.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]
  default_tags {
    tags = { Application = var.name }
  }
}
