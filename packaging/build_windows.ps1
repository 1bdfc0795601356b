<#
.SYNOPSIS
    Builds the Windows release of copier_gui: dist\copier-gui\ (one folder, two executables) and
    dist\copier-gui-<version>-setup.exe, then starts what it built.

.DESCRIPTION
    1. Tests (unless -SkipTests): the project's .venv with the dev extra, import contracts, pytest.
    2. A clean release venv (build\release-venv) with only the application's dependencies and
       PyInstaller, so no development tool can slip into the bundle.
    3. PyInstaller with packaging\copier_gui.spec -> dist\copier-gui\.
    4. Smoke checks of the build: --version, the headless demo, the window (with a screenshot and
       the start-up time), and MetaTrader5 with no terminal installed.
    5. NSIS (makensis) with packaging\installer.nsi -> dist\copier-gui-<version>-setup.exe.
    6. With -CheckInstaller: a silent install into this user's profile, a start of the installed
       app, an upgrade over it, and a silent uninstall. CI passes it; on your own machine it
       would replace an installed copier_gui.

    Keep in step with packaging\copier_gui.spec, packaging\installer.nsi and
    packaging\wine-smoke.sh, which checks the same things under Wine on Linux.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1
.EXAMPLE
    .\packaging\build_windows.ps1 -SkipTests -CheckInstaller
#>
[CmdletBinding()]
param(
    # The Python (3.11 or later, 64-bit) to create the venvs with.
    [string]$Python = "python",
    [switch]$SkipTests,
    [switch]$CheckInstaller
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root
$Dist = Join-Path $Root "dist"
$Bundle = Join-Path $Dist "copier-gui"
$Scratch = Join-Path $Root "build\windows-checks"
# The same lower bound as the dev extra in pyproject.toml.
$PyInstallerRequirement = "pyinstaller>=6.11"

function Invoke-Native {
    # Runs a program and stops the build when it fails; PowerShell does not do that by itself.
    param([Parameter(Mandatory)][string]$FilePath, [string[]]$ArgumentList = @())
    & $FilePath @ArgumentList
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE"
    }
}

function Write-Step([string]$Text) { Write-Host ""; Write-Host "== $Text" -ForegroundColor Cyan }

function Start-Windowed {
    # Starts a windowed (GUI subsystem) exe, waits at most $TimeoutSeconds, returns its exit code.
    param([string]$FilePath, [string[]]$ArgumentList, [int]$TimeoutSeconds = 120)
    $quoted = $ArgumentList | ForEach-Object { '"' + $_ + '"' }
    $process = Start-Process -FilePath $FilePath -ArgumentList $quoted -PassThru
    # Reading the handle now keeps ExitCode available after the process ends (a .NET quirk).
    $null = $process.Handle
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        $process.Kill()
        throw "$FilePath did not exit within $TimeoutSeconds s"
    }
    return $process.ExitCode
}

function Test-Build {
    # The checks wine-smoke.sh runs under Wine, here on Windows. $Folder holds the two exes.
    param([string]$Folder, [string]$Label)
    $console = Join-Path $Folder "copier-gui.exe"
    $windowed = Join-Path $Folder "copier-guiw.exe"
    $home_ = Join-Path $Scratch "$Label-home"
    Remove-Item -Recurse -Force $home_ -ErrorAction SilentlyContinue

    $version = (& $console --version | Out-String).Trim()
    if ($LASTEXITCODE -ne 0 -or $version -ne "copier-gui $script:Version") {
        throw "$Label`: copier-gui.exe --version printed '$version' (exit $LASTEXITCODE)"
    }
    $seconds = (Measure-Command { & $console --version | Out-Null }).TotalSeconds
    Write-Host ("{0}: --version ok ({1:N2} s)" -f $Label, $seconds)

    $output = & $console --home $home_ --demo --headless --duration 5 | Out-String
    if ($LASTEXITCODE -ne 0 -or $output -notmatch "Drift summary") {
        Write-Host $output
        throw "$Label`: the headless demo failed (exit $LASTEXITCODE)"
    }
    Write-Host "$Label`: headless demo ok"

    # The window: start-up to a shown window and back (--duration 0), then 5 s with a screenshot.
    $shot = Join-Path $Scratch "$Label-window.png"
    Remove-Item -Force $shot -ErrorAction SilentlyContinue
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $code = Start-Windowed $windowed @("--home", $home_, "--demo", "--duration", "0")
    $watch.Stop()
    if ($code -ne 0) { throw "$Label`: copier-guiw.exe --demo --duration 0 exited with $code" }
    Write-Host ("{0}: window start-up and shutdown {1:N2} s (target: a visible window within 3 s)" -f $Label, $watch.Elapsed.TotalSeconds)
    $code = Start-Windowed $windowed @("--home", $home_, "--demo", "--duration", "5", "--screenshot", $shot)
    if ($code -ne 0 -or -not (Test-Path $shot)) { throw "$Label`: copier-guiw.exe --demo --screenshot failed (exit $code)" }
    Write-Host "$Label`: window ok, screenshot $shot"
}

function Test-MetaTrader5 {
    # A master linked to a MetaTrader 5 terminal that is not installed: the bundled package must
    # import, and the app must report the missing terminal in its journal instead of crashing.
    param([string]$Folder, [string]$PythonForKeyring)
    $console = Join-Path $Folder "copier-gui.exe"
    if (-not (Get-ChildItem (Join-Path $Folder "_internal\MetaTrader5") -Filter "_core*.pyd" -ErrorAction SilentlyContinue)) {
        throw "the bundle has no MetaTrader5\_core*.pyd"
    }
    $home_ = Join-Path $Scratch "mt5-home"
    Remove-Item -Recurse -Force $home_ -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force $home_ | Out-Null
    Copy-Item (Join-Path $Root "packaging\smoke-mt5-settings.json") (Join-Path $home_ "settings.json")
    $terminal = Get-ChildItem "$env:ProgramFiles\*\terminal64.exe" -ErrorAction SilentlyContinue
    if ($terminal) {
        Write-Host "a MetaTrader 5 terminal is installed ($($terminal[0].FullName)): skipping the no-terminal check"
        return
    }
    # The app reads the account's password from the keyring before initialize(): store a made-up
    # one in this user's Credential Manager for the check, and remove it afterwards.
    $settings = Join-Path $home_ "settings.json"
    Invoke-Native $PythonForKeyring @("packaging\smoke_password.py", "store", $settings)
    $previous = $env:QT_QPA_PLATFORM
    $env:QT_QPA_PLATFORM = "offscreen"
    try {
        & $console --home $home_ --duration 6 | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "copier-gui.exe with an unreachable terminal exited with $LASTEXITCODE" }
    } finally {
        $env:QT_QPA_PLATFORM = $previous
        & $PythonForKeyring packaging\smoke_password.py delete $settings
    }
    $csv = Join-Path $Scratch "mt5-journal.csv"
    Invoke-Native $console @("--home", $home_, "journal", "export", "--csv", $csv)
    $line = Select-String -Path $csv -Pattern "MetaTrader 5 terminal not found at[^,]*" | Select-Object -First 1
    if (-not $line) { throw "the journal does not say 'MetaTrader 5 terminal not found at ...'" }
    Write-Host "MetaTrader5: imported; with no terminal the journal says: $($line.Matches[0].Value)"
}

New-Item -ItemType Directory -Force $Scratch | Out-Null
$script:Version = (& $Python packaging\version_resource.py --print-version).Trim()
$FileVersion = (& $Python packaging\version_resource.py --print-file-version).Trim()
Write-Host "copier_gui $script:Version ($FileVersion)"

if (-not $SkipTests) {
    Write-Step "Tests"
    if (-not (Test-Path ".venv\Scripts\python.exe")) { Invoke-Native $Python @("-m", "venv", ".venv") }
    Invoke-Native ".venv\Scripts\python.exe" @("-m", "pip", "install", "-q", "-e", ".[dev]")
    Invoke-Native ".venv\Scripts\lint-imports.exe"
    Invoke-Native ".venv\Scripts\python.exe" @("-m", "pytest", "-q")
}

Write-Step "Release venv (application dependencies and PyInstaller only)"
$ReleaseVenv = Join-Path $Root "build\release-venv"
Remove-Item -Recurse -Force $ReleaseVenv -ErrorAction SilentlyContinue
Invoke-Native $Python @("-m", "venv", $ReleaseVenv)
$ReleasePython = Join-Path $ReleaseVenv "Scripts\python.exe"
Invoke-Native $ReleasePython @("-m", "pip", "install", "-q", "--upgrade", "pip")
Invoke-Native $ReleasePython @("-m", "pip", "install", "-q", ".", $PyInstallerRequirement)
Invoke-Native $ReleasePython @("-m", "pip", "list")

Write-Step "PyInstaller: packaging\copier_gui.spec -> dist\copier-gui\"
Remove-Item -Recurse -Force $Bundle -ErrorAction SilentlyContinue
Invoke-Native $ReleasePython @("-m", "PyInstaller", "packaging\copier_gui.spec", "--noconfirm",
    "--distpath", $Dist, "--workpath", (Join-Path $Root "build\pyinstaller"))
$bytes = (Get-ChildItem -Recurse -File $Bundle | Measure-Object -Sum Length).Sum
$files = (Get-ChildItem -Recurse -File $Bundle).Count
Write-Host ("dist\copier-gui: {0:N1} MB in {1} files (target: at most 150 MB)" -f ($bytes / 1e6), $files)
if ($bytes -gt 150e6) { Write-Warning "the one-folder build is over its 150 MB target" }

Write-Step "Smoke checks of dist\copier-gui\"
Test-Build -Folder $Bundle -Label "build"
Test-MetaTrader5 -Folder $Bundle -PythonForKeyring $ReleasePython

Write-Step "NSIS: packaging\installer.nsi"
$makensis = (Get-Command makensis -ErrorAction SilentlyContinue).Source
if (-not $makensis) {
    $makensis = @("${env:ProgramFiles(x86)}\NSIS\makensis.exe", "$env:ProgramFiles\NSIS\makensis.exe") |
        Where-Object { Test-Path $_ } | Select-Object -First 1
}
if (-not $makensis) { throw "makensis not found: install NSIS 3 (winget install NSIS.NSIS, or choco install nsis)" }
$Setup = Join-Path $Dist "copier-gui-$script:Version-setup.exe"
Remove-Item -Force $Setup -ErrorAction SilentlyContinue
Invoke-Native $makensis @("/V2", "/DVERSION=$script:Version", "/DFILE_VERSION=$FileVersion", "packaging\installer.nsi")
if (-not (Test-Path $Setup)) { throw "makensis did not write $Setup" }
Write-Host ("{0}: {1:N1} MB" -f $Setup, ((Get-Item $Setup).Length / 1e6))

if ($CheckInstaller) {
    Write-Step "Silent install, start, upgrade, uninstall"
    $InstallDir = Join-Path $env:LOCALAPPDATA "Programs\copier-gui"
    $UninstallKey = "HKCU:\Software\Microsoft\Windows\CurrentVersion\Uninstall\copier-gui"
    $Shortcut = Join-Path ([Environment]::GetFolderPath("Programs")) "copier_gui.lnk"
    foreach ($round in @("install", "upgrade")) {
        $process = Start-Process -FilePath $Setup -ArgumentList "/S" -PassThru -Wait
        if ($process.ExitCode -ne 0) { throw "setup /S ($round) exited with $($process.ExitCode)" }
        foreach ($path in @((Join-Path $InstallDir "copier-gui.exe"), (Join-Path $InstallDir "copier-guiw.exe"), $Shortcut)) {
            if (-not (Test-Path $path)) { throw "after the $round, $path is missing" }
        }
        $entry = Get-ItemProperty $UninstallKey
        if ($entry.DisplayVersion -ne $script:Version) { throw "the uninstall entry says $($entry.DisplayVersion)" }
        Test-Build -Folder $InstallDir -Label "installed-$round"
    }
    $uninstaller = Join-Path $InstallDir "uninstall.exe"
    Start-Process -FilePath $uninstaller -ArgumentList "/S" -Wait | Out-Null
    # The uninstaller continues from a copy in the temp folder; give it time to finish.
    for ($i = 0; $i -lt 60 -and (Test-Path $InstallDir); $i++) { Start-Sleep -Seconds 1 }
    if (Test-Path $InstallDir) { throw "uninstall left $InstallDir behind" }
    if (Test-Path $UninstallKey) { throw "uninstall left the uninstall entry behind" }
    Write-Host "installer ok: installed, started, upgraded in place, uninstalled"
}

Write-Step "Done"
Write-Host "one folder: $Bundle"
Write-Host "installer:  $Setup"
