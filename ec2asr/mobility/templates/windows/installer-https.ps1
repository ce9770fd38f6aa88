    # The installer package, over HTTPS.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    $package = Join-Path $work 'MobilityServiceInstaller.exe'
    Invoke-WebRequest -Uri {{url}} -OutFile $package -UseBasicParsing
