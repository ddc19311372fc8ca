output "url" {
  description = "Where Leonidas answers, once domain_name points at the load balancer."
  value       = local.web_origin
}

output "load_balancer_dns_name" {
  description = "Point domain_name here (a CNAME, or a Route 53 alias with load_balancer_zone_id)."
  value       = aws_lb.main.dns_name
}

output "load_balancer_zone_id" {
  value = aws_lb.main.zone_id
}

output "table_name" {
  value = aws_dynamodb_table.main.name
}

output "bucket" {
  value = aws_s3_bucket.uploads.bucket
}

output "access_logs_bucket" {
  value = aws_s3_bucket.access_logs.bucket
}

output "jwt_secret_arn" {
  value = aws_secretsmanager_secret.jwt.arn
}

output "task_role_arn" {
  value = aws_iam_role.task.arn
}

output "log_group" {
  value = aws_cloudwatch_log_group.server.name
}
