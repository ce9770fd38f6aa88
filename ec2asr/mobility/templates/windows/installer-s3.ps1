    # The installer package, from S3 (the instance role needs s3:ListBucket and s3:GetObject).
    $found = Get-S3Object -BucketName {{bucket}} -KeyPrefix {{prefix}} -Region {{region}} |
        Where-Object { [IO.Path]::GetFileName($_.Key) -like 'Microsoft-ASR_UA_*_Windows_*release.exe' } |
        Sort-Object { try { [version]([IO.Path]::GetFileName($_.Key).Split('_')[2]) } catch { [version]'0.0' } } |
        Select-Object -Last 1
    if (-not $found) {
        $code = 66
        throw ('no Windows Mobility service package (Microsoft-ASR_UA_*_Windows_*release.exe) in ' + {{uri}})
    }
    $package = Join-Path $work 'MobilityServiceInstaller.exe'
    Read-S3Object -BucketName {{bucket}} -Key $found.Key -File $package -Region {{region}} | Out-Null
