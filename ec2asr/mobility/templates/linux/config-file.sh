# The configuration file generated on the appliance, placed next to this script.
if [ ! -s "$HERE/{{filename}}" ]; then
  echo "ec2asr: put the configuration file generated on the appliance next to this script as {{filename}}" >&2
  exit 67
fi
cp "$HERE/{{filename}}" "$CFG"
