# The installer package, over HTTPS.
FILE=""
case "$DISTRO" in
{{cases}}
esac
if [ -z "$FILE" ]; then
  echo "ec2asr: no Mobility service package for ${DISTRO} is configured for download" >&2
  exit 66
fi
if command -v curl >/dev/null 2>&1; then
  curl -fsSL --retry 3 -o "$WORK/package.tar.gz" {{base_url}}"$FILE"
else
  wget -q -O "$WORK/package.tar.gz" {{base_url}}"$FILE"
fi
