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

variable "container_image" {
  description = "The server image (built from the repository's Dockerfile and pushed to a registry)."
  type        = string
}

variable "vpc_id" {
  description = "VPC for the load balancer and the service."
  type        = string
}

variable "public_subnet_ids" {
  description = "At least two public subnets for the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets for the tasks (with a NAT gateway or VPC endpoints to reach AWS APIs)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS on the load balancer; leave empty to serve plain HTTP (testing only)."
  type        = string
  default     = ""
}

variable "web_origin" {
  description = "The public origin of the app (https://leonidas.example.com): CORS for the API and the bucket."
  type        = string
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

variable "desired_count" {
  description = "Server tasks. Live chat streams are served by the task running the reply: keep 1, or enable stickiness."
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
  type    = number
  default = 30
}
