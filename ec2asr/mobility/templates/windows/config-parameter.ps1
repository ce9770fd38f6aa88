    # The configuration file, from Parameter Store (SecureString, decrypted with the instance role).
    (Get-SSMParameter -Name {{parameter}} -Region {{region}} -WithDecryption $true).Value | Set-Content -Path $cfg
