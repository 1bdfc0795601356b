# Registers copier_gui's headless copier as a scheduled task for the current user: it starts when
# the user logs on (with -AtBoot, when the machine starts, which needs the user's password once so
# Windows can open their Credential Manager without a logon) and starts again a minute after a
# failure. Run it as the user who linked the accounts:
#
#   powershell -ExecutionPolicy Bypass -File install-task.ps1 [-AtBoot] [-Exe PATH] [-Remove]
param(
    [string]$Exe = "$env:LOCALAPPDATA\Programs\copier-gui\copier-gui.exe",
    [switch]$AtBoot,
    [switch]$Remove
)
$ErrorActionPreference = "Stop"
$name = "copier-gui"

if ($Remove) {
    Unregister-ScheduledTask -TaskName $name -Confirm:$false
    Write-Host "task $name removed"
    exit 0
}
if (-not (Test-Path $Exe)) {
    Write-Error "no copier-gui.exe at $Exe: install copier_gui first, or give its path with -Exe"
}
$user = "$env:USERDOMAIN\$env:USERNAME"
$xml = Get-Content -Raw -Encoding UTF8 (Join-Path $PSScriptRoot "copier-gui-task.xml")
$xml = $xml.Replace("__USER__", [Security.SecurityElement]::Escape($user)).Replace(
    "__EXE__", [Security.SecurityElement]::Escape($Exe))
if ($AtBoot) {
    # At boot nobody has logged on: the task logs the user on itself, with the password Windows
    # keeps for the task (never in a file), so their Credential Manager opens.
    $xml = $xml.Replace("<LogonTrigger>", "<BootTrigger>").Replace("</LogonTrigger>", "</BootTrigger>")
    $xml = $xml -replace "\s*<UserId>[^<]*</UserId>\s*(?=<Delay>)", "`n      "
    $xml = $xml.Replace("<LogonType>InteractiveToken</LogonType>", "<LogonType>Password</LogonType>")
    $credential = Get-Credential -UserName $user -Message "Windows password of $user, kept by Task Scheduler"
    Register-ScheduledTask -TaskName $name -Xml $xml -User $user `
        -Password $credential.GetNetworkCredential().Password -Force | Out-Null
} else {
    Register-ScheduledTask -TaskName $name -Xml $xml -Force | Out-Null
}
Write-Host "task $name registered: $Exe --headless, restarted a minute after a failure"
Write-Host "start it now with: Start-ScheduledTask -TaskName $name"
