    # The configuration file generated on the appliance, placed next to this script.
    $source = Join-Path $here {{filename}}
    if (-not (Test-Path -LiteralPath $source)) {
        $code = 67
        throw ('put the configuration file generated on the appliance next to this script as ' + {{filename}})
    }
    Copy-Item -LiteralPath $source -Destination $cfg
