# The installer package, from S3 (the instance role needs s3:ListBucket and s3:GetObject).
if ! command -v aws >/dev/null 2>&1; then
  echo "ec2asr: the AWS CLI (aws) is needed to download the installer from S3" >&2
  exit 66
fi
KEY="$(aws s3 ls {{uri}} --region {{region}} | awk '{print $4}' | grep -E "^Microsoft-ASR_UA_.*_${DISTRO}_.*release\.tar\.gz$" | sort -V | tail -n 1 || true)"
if [ -z "$KEY" ]; then
  echo "ec2asr: no Mobility service package for ${DISTRO} in "{{uri}} >&2
  exit 66
fi
aws s3 cp {{uri}}"$KEY" "$WORK/package.tar.gz" --region {{region}} --only-show-errors
