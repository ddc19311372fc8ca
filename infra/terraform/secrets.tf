# A fixed name, so the task definition can name it at plan time. Deleted at once on destroy: it only signs
# access tokens (15 minutes at most), and a recovery window would block the name for a redeploy.
resource "aws_secretsmanager_secret" "jwt" {
  name                    = "${var.name}/jwt-secret"
  recovery_window_in_days = 0
}

# 384 random bits, made by Terraform itself (uuid() reads the operating system's secure random source) and
# written once per jwt_secret_version. A write-only attribute keeps the value out of state and plan files, and
# nothing calls AWS at plan time (the ephemeral aws_secretsmanager_random_password would).
resource "aws_secretsmanager_secret_version" "jwt" {
  secret_id                = aws_secretsmanager_secret.jwt.id
  secret_string_wo         = join("", [uuid(), uuid(), uuid()])
  secret_string_wo_version = var.jwt_secret_version
}
