# The installer package, already on this machine in {{label}}.
SOURCE_DIR={{directory}}
FILE="$(ls -1 "$SOURCE_DIR"/Microsoft-ASR_UA_*_"${DISTRO}"_*release.tar.gz 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$FILE" ]; then
  echo "ec2asr: put the Mobility service package for ${DISTRO} (Microsoft-ASR_UA_*_${DISTRO}_*release.tar.gz) in $SOURCE_DIR" >&2
  exit 66
fi
cp "$FILE" "$WORK/package.tar.gz"
