# Computed from the region inside the provider: no AWS call at plan time.
data "aws_partition" "current" {}

# ARNs built from names rather than read from the resources: known at plan time, so a plan shows every
# policy in full (and infra/test/terraform.test.ts checks them there) instead of "(known after apply)".
locals {
  partition       = data.aws_partition.current.partition
  table_arn       = "arn:${local.partition}:dynamodb:${var.region}:${var.account_id}:table/${aws_dynamodb_table.main.name}"
  uploads_arn     = "arn:${local.partition}:s3:::${aws_s3_bucket.uploads.bucket}"
  access_logs_arn = "arn:${local.partition}:s3:::${aws_s3_bucket.access_logs.bucket}"
  jwt_secret_arn  = "arn:${local.partition}:secretsmanager:${var.region}:${var.account_id}:secret:${aws_secretsmanager_secret.jwt.name}-??????"
}

resource "aws_iam_role" "task" {
  name = "${var.name}-server"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# Least privilege: exactly the calls the server's code sends (infra/test/terraform.test.ts derives them from the
# code and compares), on the table and its indexes, the bucket's projects/ prefix and the one model.
resource "aws_iam_role_policy" "task" {
  name = "${var.name}-server"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid    = "Table"
          Effect = "Allow"
          # Transactions need the permission of each action inside them (ConditionCheckItem included).
          Action = [
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:ConditionCheckItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
          ]
          Resource = [local.table_arn, "${local.table_arn}/index/*"]
        },
        {
          Sid    = "Objects"
          Effect = "Allow"
          # HeadObject is authorized as GetObject and DeleteObjects as DeleteObject; presigned uploads carry a
          # tag, so the signer needs PutObjectTagging as well as PutObject.
          Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging"]
          Resource = "${local.uploads_arn}/projects/*"
        },
        {
          # Without ListBucket on the bucket itself, S3 answers a missing key with 403 instead of 404, and the
          # server's "object is gone" paths (file.confirm, downloads, previews) would fail instead of answering.
          # A prefix condition would not do: HeadObject and GetObject carry no s3:prefix. The bucket holds
          # nothing but this server's objects.
          Sid      = "ListBucket"
          Effect   = "Allow"
          Action   = "s3:ListBucket"
          Resource = local.uploads_arn
        },
      ],
      var.llm_provider == "bedrock" ? [{
        Sid      = "Model"
        Effect   = "Allow"
        Action   = "bedrock:InvokeModelWithResponseStream"
        Resource = "arn:${local.partition}:bedrock:${var.region}::foundation-model/${var.bedrock_model_id}"
      }] : [],
    )
  })
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = aws_iam_role.task.assume_role_policy
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The execution role injects the secrets into the container; the task itself never reads Secrets Manager.
resource "aws_iam_role_policy" "execution_secrets" {
  name = "${var.name}-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "secretsmanager:GetSecretValue"
      Resource = compact([local.jwt_secret_arn, local.openai ? var.openai_api_key_secret_arn : ""])
    }]
  })
}

resource "aws_cloudwatch_log_group" "server" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
}
