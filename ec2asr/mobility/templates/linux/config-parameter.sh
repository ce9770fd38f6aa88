# The configuration file, from Parameter Store (SecureString, decrypted with the instance role).
if ! command -v aws >/dev/null 2>&1; then
  echo "ec2asr: the AWS CLI (aws) is needed to read the configuration from Parameter Store" >&2
  exit 67
fi
aws ssm get-parameter --region {{region}} --name {{parameter}} --with-decryption --query Parameter.Value --output text > "$CFG"
