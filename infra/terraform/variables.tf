variable "name" {
  description = "Prefix for every resource (table, bucket, cluster, ...)."
  type        = string
  default     = "leonidas"
}

variable "region" {
  description = "AWS region for everything, Bedrock included."
  type        = string
  default     = "us-east-1"
}

variable "account_id" {
  description = "The AWS account to deploy to: Terraform refuses to touch any other, and policies name it."
  type        = string
  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit AWS account ID (aws sts get-caller-identity)."
  }
}

variable "container_image" {
  description = "The server image (built from the repository's Dockerfile and pushed to a registry)."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64: must match the platform the image was built for (the Dockerfile's PLATFORM)."
  type        = string
  default     = "X86_64"
  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "vpc_id" {
  description = "VPC for the load balancer and the service."
  type        = string
}

variable "public_subnet_ids" {
  description = "At least two public subnets, in different zones, for the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets for the tasks; they reach AWS APIs through a NAT gateway or VPC endpoints (README)."
  type        = list(string)
}

variable "domain_name" {
  description = "The host name users open (leonidas.example.com). A DNS record must point it at the load balancer."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.domain_name))
    error_message = "domain_name must be a lower-case host name such as leonidas.example.com (no scheme, no port)."
  }
}

variable "certificate_arn" {
  description = "An issued ACM certificate for domain_name, in the same region. There is no plain-HTTP mode: bearer tokens must not travel in clear."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "jwt_secret_version" {
  description = "Bump to write a new random JWT secret (signs every access token anew; running tasks keep the old one until the service is redeployed)."
  type        = number
  default     = 1
}

variable "llm_provider" {
  description = "offline, bedrock or openai."
  type        = string
  default     = "bedrock"
  validation {
    condition     = contains(["offline", "bedrock", "openai"], var.llm_provider)
    error_message = "llm_provider must be offline, bedrock or openai."
  }
}

variable "bedrock_model_id" {
  description = "The Bedrock model the server may invoke (and nothing else)."
  type        = string
  default     = "openai.gpt-oss-120b-1:0"
}

variable "openai_base_url" {
  description = "With llm_provider = openai: any OpenAI-compatible server reachable over HTTPS (port 443) from the tasks."
  type        = string
  default     = "https://api.openai.com/v1"
}

variable "openai_model" {
  description = "With llm_provider = openai: the model name."
  type        = string
  default     = "gpt-4o-mini"
}

variable "openai_api_key_secret_arn" {
  description = "With llm_provider = openai: a Secrets Manager secret (created outside Terraform, README) holding the API key."
  type        = string
  default     = ""
  validation {
    condition     = var.llm_provider != "openai" || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.openai_api_key_secret_arn))
    error_message = "llm_provider = openai needs openai_api_key_secret_arn: the server does not start without OPENAI_API_KEY."
  }
}

variable "desired_count" {
  description = "Server tasks. Live chat streams are served by the task running the reply; the target group's stickiness keeps a browser there."
  type        = number
  default     = 1
}

variable "cpu" {
  type    = number
  default = 1024
}

variable "memory" {
  description = "MiB per task; DuckDB profiles large CSVs in memory (DUCKDB_MEMORY_LIMIT is set to half)."
  type        = number
  default     = 2048
}

variable "log_retention_days" {
  description = "CloudWatch retention of the server's logs, and days the load balancer's access logs are kept."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Protects the table and the load balancer from deletion; set false (and apply) before terraform destroy."
  type        = bool
  default     = true
}
