    # The installer package, already on this machine in {{label}}.
    $sourceDir = {{directory}}
    $found = Get-ChildItem -LiteralPath $sourceDir -Filter 'Microsoft-ASR_UA_*_Windows_*release.exe' -ErrorAction SilentlyContinue |
        Sort-Object { try { [version]($_.Name.Split('_')[2]) } catch { [version]'0.0' } } |
        Select-Object -Last 1
    if (-not $found) {
        $code = 66
        throw ('put the Windows Mobility service package (Microsoft-ASR_UA_*_Windows_*release.exe) in ' + $sourceDir)
    }
    $package = $found.FullName
