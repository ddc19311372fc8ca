locals {
  openai = var.llm_provider == "openai"
}

# Tasks take requests from the load balancer only, and speak nothing but HTTPS out (AWS APIs through the NAT
# gateway or VPC endpoints, an OpenAI-compatible server). DNS goes to the VPC resolver, which security groups
# do not filter.
resource "aws_security_group" "task" {
  name_prefix = "${var.name}-task-"
  description = "Leonidas server tasks: the load balancer in, HTTPS out"
  vpc_id      = var.vpc_id
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "task_from_alb" {
  security_group_id            = aws_security_group.task.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 3000
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "task_https" {
  security_group_id = aws_security_group.task.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_ecs_cluster" "main" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "server" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }
  container_definitions = jsonencode([{
    name         = "server"
    image        = var.container_image
    essential    = true
    portMappings = [{ containerPort = 3000, protocol = "tcp" }]
    environment = concat(
      [
        { name = "NODE_ENV", value = "production" },
        { name = "HOST", value = "0.0.0.0" },
        { name = "PORT", value = "3000" },
        { name = "AWS_REGION", value = var.region },
        { name = "TABLE_NAME", value = aws_dynamodb_table.main.name },
        { name = "CREATE_TABLE", value = "false" },
        { name = "S3_BUCKET", value = aws_s3_bucket.uploads.bucket },
        { name = "CORS_ORIGINS", value = local.web_origin },
        { name = "TRUST_PROXY", value = "1" },
        { name = "KEEP_ALIVE_TIMEOUT_SECONDS", value = tostring(local.keep_alive_timeout_seconds) },
        { name = "HEADERS_TIMEOUT_SECONDS", value = tostring(local.headers_timeout_seconds) },
        { name = "LLM_PROVIDER", value = var.llm_provider },
        { name = "DATA_DIR", value = "/tmp/leonidas" },
        { name = "DUCKDB_MEMORY_LIMIT", value = "${floor(var.memory / 2)}MB" },
        { name = "SHUTDOWN_TIMEOUT_MS", value = "25000" },
      ],
      var.llm_provider == "bedrock" ? [{ name = "BEDROCK_MODEL_ID", value = var.bedrock_model_id }] : [],
      local.openai ? [
        { name = "OPENAI_BASE_URL", value = var.openai_base_url },
        { name = "OPENAI_MODEL", value = var.openai_model },
      ] : [],
    )
    secrets = concat(
      [{ name = "JWT_SECRET", valueFrom = aws_secretsmanager_secret.jwt.name }],
      local.openai ? [{ name = "OPENAI_API_KEY", valueFrom = var.openai_api_key_secret_arn }] : [],
    )
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.server.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "server"
      }
    }
    # ECS sends SIGTERM and waits this long: in-flight replies get to finish.
    stopTimeout = 30
  }])
}

resource "aws_ecs_service" "server" {
  name                              = var.name
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.server.arn
  desired_count                     = var.desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.server.arn
    container_name   = "server"
    container_port   = 3000
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  # A release whose tasks never turn healthy is rolled back instead of retried for ever.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  # The first tasks need the secret's value and the right to read it, and a listener to register behind.
  depends_on = [
    aws_lb_listener.https,
    aws_secretsmanager_secret_version.jwt,
    aws_iam_role_policy.execution_secrets,
    aws_iam_role_policy_attachment.execution,
    aws_iam_role_policy.task,
  ]
}
