@header@
<#
.SYNOPSIS
Installs @package@ from its release: the Windows build for this machine's CPU,
checked against its SHA-256 before anything is installed.

.DESCRIPTION
Downloads the release archive for the operating system's CPU (not this
process's, which an emulated PowerShell misreports), checks it against the
SHA-256 this installer carries (another version: its published .sha256),
unpacks it to a temporary directory, starts @bin@ once with --version, and
only then installs into %LOCALAPPDATA%\Programs\@package@\bin and adds that
directory to your PATH. Nothing is installed when any step fails. A receipt
beside the binaries lists what was installed, for -Uninstall.

  irm <release URL>/@package@-installer.ps1 | iex
  powershell -ExecutionPolicy Bypass -File @package@-installer.ps1 [-Version 1.2.3] [-InstallDir DIR]

Through `irm | iex`, set @env@_VERSION, @env@_INSTALL_DIR, @env@_DOWNLOAD_URL or
@env@_NO_MODIFY_PATH=1 instead of the parameters.
#>
[CmdletBinding()]
param(
    # The release to install (default: the one this installer came with).
    [string]$Version = $env:@env@_VERSION,
    # Where the binaries go (default: %LOCALAPPDATA%\Programs\@package@\bin).
    [string]$InstallDir = $env:@env@_INSTALL_DIR,
    # Where the release files are downloaded from (a mirror).
    [string]$DownloadUrl = $env:@env@_DOWNLOAD_URL,
    # Leave the user's PATH alone.
    [switch]$NoModifyPath = ($env:@env@_NO_MODIFY_PATH -eq '1'),
    # Remove what this installer installed into InstallDir.
    [switch]$Uninstall
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Package = '@package@'
$App = '@bin@'
$Bins = @(@bins@)
$Repository = '@repository@'
$TagPrefix = '@tag-prefix@'
$Ext = '@ext@'
# The Windows build for each CPU the operating system reports.
$Targets = @{
@targets@}
# The release this installer was published with, and the SHA-256 of each of
# its archives (`name:sha256`): what it checks the download against.
$ReleaseVersion = ''
$ReleaseSums = ''

function Say([string]$Message) {
    [Console]::Error.WriteLine("$Package installer: $Message")
}

function Fail([string]$Message) {
    throw "$Package installer: error: $Message"
}

# The CPU of the operating system: the registry's value, which emulation
# does not change (an x64 PowerShell on Windows on Arm sees AMD64 in its
# own environment).
function Get-OsCpu {
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
    $cpu = (Get-ItemProperty -Path $key -Name PROCESSOR_ARCHITECTURE).PROCESSOR_ARCHITECTURE
    switch ($cpu) {
        'AMD64' { 'x64' }
        'ARM64' { 'arm64' }
        'x86' { 'x86' }
        default { "$cpu" }
    }
}

function Get-Sha256([string]$Path) {
    (Get-FileHash -Algorithm SHA256 -LiteralPath $Path).Hash.ToLowerInvariant()
}

function Get-Download([string]$Url, [string]$Path) {
    try {
        Invoke-WebRequest -Uri $Url -OutFile $Path -UseBasicParsing
    } catch {
        Fail "cannot download ${Url}: $($_.Exception.Message)"
    }
}

# The user's PATH as the registry holds it, %VARIABLES% unexpanded, and
# written back with the same kind (REG_EXPAND_SZ stays REG_EXPAND_SZ).
function Set-UserPath([scriptblock]$Change) {
    $key = [Microsoft.Win32.Registry]::CurrentUser.OpenSubKey('Environment', $true)
    try {
        $old = $key.GetValue('Path', '', [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        $kind = [Microsoft.Win32.RegistryValueKind]::ExpandString
        if ($null -ne $key.GetValue('Path')) {
            $kind = $key.GetValueKind('Path')
        }
        $entries = @($old -split ';' | Where-Object { $_ -ne '' })
        $new = & $Change $entries
        if (($new -join ';') -ne ($entries -join ';')) {
            $key.SetValue('Path', ($new -join ';'), $kind)
            # Tells Explorer, and so every new terminal, that the environment changed.
            $touch = "$($Package -replace '[^A-Za-z0-9]', '_')_INSTALLER"
            [Environment]::SetEnvironmentVariable($touch, '1', 'User')
            [Environment]::SetEnvironmentVariable($touch, $null, 'User')
            return $true
        }
        return $false
    } finally {
        $key.Close()
    }
}

function Invoke-Uninstall([string]$Dir) {
    $receipt = Join-Path $Dir ".$Package.install-receipt"
    if (-not (Test-Path -LiteralPath $receipt)) {
        Fail "there is no receipt of $Package in $Dir ($receipt), so nothing was removed; use -InstallDir where it was installed"
    }
    foreach ($line in Get-Content -LiteralPath $receipt) {
        if ($line -match '^file ([0-9a-f]{64}) (.+)$') {
            $path = $Matches[2]
            if (-not (Test-Path -LiteralPath $path)) { continue }
            if ((Get-Sha256 $path) -eq $Matches[1]) {
                Remove-Item -LiteralPath $path -Force
                Say "removed $path"
            } else {
                Say "kept ${path}: it changed since it was installed"
            }
        } elseif ($line -match '^path (.+)$') {
            $entry = $Matches[1]
            if (Set-UserPath { param($e) @($e | Where-Object { $_ -ne $entry }) }) {
                Say "removed $entry from your PATH"
            }
        }
    }
    Remove-Item -LiteralPath $receipt -Force
    if (-not (Get-ChildItem -LiteralPath $Dir -Force)) {
        Remove-Item -LiteralPath $Dir -Force
        $parent = Split-Path -Parent $Dir
        if ((Split-Path -Leaf $parent) -eq $Package -and -not (Get-ChildItem -LiteralPath $parent -Force)) {
            Remove-Item -LiteralPath $parent -Force
        }
    }
    Say "uninstalled $Package from $Dir"
}

function Invoke-Install {
    if (-not $InstallDir) {
        if (-not $env:LOCALAPPDATA) { Fail 'LOCALAPPDATA is not set; choose a directory with -InstallDir' }
        $InstallDir = Join-Path $env:LOCALAPPDATA "Programs\$Package\bin"
    }
    $InstallDir = [IO.Path]::GetFullPath($InstallDir)
    if ($Uninstall) {
        Invoke-Uninstall $InstallDir
        return
    }

    $cpu = Get-OsCpu
    $target = $Targets[$cpu]
    if (-not $target) {
        Fail "there is no $Package build for Windows on $cpu; there are builds for @supported@"
    }
    $version = $Version
    if ($version.StartsWith($TagPrefix)) { $version = $version.Substring($TagPrefix.Length) }
    if (-not $version) { $version = $ReleaseVersion }

    if ($DownloadUrl) {
        $base = $DownloadUrl.TrimEnd('/')
    } elseif (-not $Repository) {
        Fail "this installer does not know where $Package is released; set @env@_DOWNLOAD_URL to the URL of the release files"
    } elseif ($version) {
        $base = "$Repository/releases/download/$TagPrefix$version"
    } else {
        $base = "$Repository/releases/latest/download"
    }
    # Windows PowerShell 5.1 offers TLS 1.0 only unless told.
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12

    $tmp = Join-Path ([IO.Path]::GetTempPath()) ("$Package-install-" + [IO.Path]::GetRandomFileName())
    New-Item -ItemType Directory -Path $tmp | Out-Null
    $staged = @()
    try {
        if ($version) {
            $archive = "$Package-$version-$target$Ext"
        } else {
            Get-Download "$base/SHA256SUMS" (Join-Path $tmp 'SHA256SUMS')
            $pattern = '^[0-9a-f]{64}  (' + [regex]::Escape("$Package-") + '.*' + [regex]::Escape("-$target$Ext") + ')$'
            $archive = Get-Content (Join-Path $tmp 'SHA256SUMS') | ForEach-Object { if ($_ -match $pattern) { $Matches[1] } } | Select-Object -First 1
            if (-not $archive) { Fail "the latest release at $base has no archive for $target" }
        }
        Say "downloading $archive for $target"
        $file = Join-Path $tmp $archive
        Get-Download "$base/$archive" $file

        $expected = ''
        if ($ReleaseVersion -and $version -eq $ReleaseVersion) {
            foreach ($pair in $ReleaseSums -split ' ') {
                if ($pair -and $pair.Substring(0, $pair.LastIndexOf(':')) -eq $archive) {
                    $expected = $pair.Substring($pair.LastIndexOf(':') + 1)
                }
            }
        }
        $known = 'the SHA-256 this installer carries'
        if (-not $expected) {
            if ($ReleaseVersion) {
                Say "checking $archive against its published .sha256: this installer carries the hashes of $Package $ReleaseVersion only"
            }
            $sidecar = Join-Path $tmp "$archive.sha256"
            Get-Download "$base/$archive.sha256" $sidecar
            $lines = @(Get-Content -LiteralPath $sidecar | Where-Object { $_.Trim() })
            if ($lines.Count -ne 1 -or $lines[0] -notmatch ('^([0-9a-fA-F]{64}) [ *]' + [regex]::Escape($archive) + '$')) {
                Fail "$archive.sha256 does not hold one line ``<sha256>  $archive``; nothing was installed"
            }
            $expected = $Matches[1].ToLowerInvariant()
            $known = 'its published SHA-256'
        }
        $actual = Get-Sha256 $file
        if ($actual -ne $expected) {
            Fail "$archive does not match $known (expected $expected, got $actual): the download is damaged or was tampered with; nothing was installed"
        }

        $unpacked = Join-Path $tmp 'unpacked'
@unpack@
        $dir = Join-Path $unpacked $archive.Substring(0, $archive.Length - $Ext.Length)
        foreach ($bin in $Bins) {
            if (-not (Test-Path -LiteralPath (Join-Path $dir "$bin.exe") -PathType Leaf)) {
                Fail "$archive holds no $bin.exe; nothing was installed"
            }
        }
        # Started before it replaces anything: a binary that cannot run on
        # this machine is never installed.
        # Windows PowerShell turns a native program's stderr into errors,
        # which 'Stop' would make fatal before its exit code is seen.
        $ErrorActionPreference = 'Continue'
        $out = & (Join-Path $dir "$App.exe") --version 2>&1 | Out-String
        $code = $LASTEXITCODE
        $ErrorActionPreference = 'Stop'
        if ($code -ne 0) {
            Fail "the downloaded $App.exe does not start on this machine ($($out.Trim())); nothing was installed"
        }

        New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
        $receipt = @("# Written by $Package's installer: what it installed. ``$Package-installer.ps1 -Uninstall`` removes these files, each only if unchanged.", "installed $Package $version $target")
        foreach ($bin in $Bins) {
            $to = Join-Path $InstallDir "$bin.exe"
            $stage = Join-Path $InstallDir ".$bin.exe.installing.$PID"
            Copy-Item -LiteralPath (Join-Path $dir "$bin.exe") -Destination $stage -Force
            $staged += $stage
            $receipt += "file $(Get-Sha256 $stage) $to"
        }
        foreach ($bin in $Bins) {
            Move-Item -LiteralPath (Join-Path $InstallDir ".$bin.exe.installing.$PID") -Destination (Join-Path $InstallDir "$bin.exe") -Force
        }
        $staged = @()
        $onPath = @($env:Path -split ';') -contains $InstallDir
        # A PATH entry an earlier install added stays this install's to remove.
        $oldReceipt = Join-Path $InstallDir ".$Package.install-receipt"
        if ((Test-Path -LiteralPath $oldReceipt) -and (Get-Content -LiteralPath $oldReceipt) -contains "path $InstallDir") {
            $receipt += "path $InstallDir"
        }
        if (-not $NoModifyPath) {
            if (Set-UserPath { param($e) if ($e -contains $InstallDir) { $e } else { @($e) + $InstallDir } }) {
                $receipt += "path $InstallDir"
                Say "added $InstallDir to your PATH; open a new terminal to use it"
            }
            if (-not $onPath) { $env:Path = "$env:Path;$InstallDir" }
        } elseif (-not $onPath) {
            Say "$InstallDir is not on your PATH"
        }
        Set-Content -LiteralPath (Join-Path $InstallDir ".$Package.install-receipt") -Value $receipt -Encoding UTF8
        Say "installed $($out.Trim().Split("`n")[0].Trim()) as $(Join-Path $InstallDir "$App.exe")"
        Say "to remove it: $Package-installer.ps1 -Uninstall -InstallDir `"$InstallDir`""
    } finally {
        foreach ($stage in $staged) { Remove-Item -LiteralPath $stage -Force -ErrorAction SilentlyContinue }
        Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Invoke-Install
