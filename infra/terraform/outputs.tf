output "url" {
  description = "Where Leonidas answers (point your DNS name at it)."
  value       = "${local.https ? "https" : "http"}://${aws_lb.main.dns_name}"
}

output "table_name" {
  value = aws_dynamodb_table.main.name
}

output "bucket" {
  value = aws_s3_bucket.uploads.bucket
}

output "task_role_arn" {
  value = aws_iam_role.task.arn
}

output "log_group" {
  value = aws_cloudwatch_log_group.server.name
}
