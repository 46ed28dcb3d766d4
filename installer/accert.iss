; Inno Setup 6 script: a per-user install of the PyInstaller folder, no administrator rights.
; Built by `python installer/build.py --installer`, which passes:
;   /DAppVersion=0.1.0  /DBundleDir=...\dist\accert  /DOutputDir=...\dist  [/DIconFile=....ico]
;
; Where things live (none of it under {app}, so upgrades and uninstalls never touch it):
;   renewals (workspaces)  Documents\accert\            (app.paths.workspaces_root)
;   settings, pins         %LOCALAPPDATA%\accert\        (platformdirs user_config_dir)
;   logs, crash.log        %LOCALAPPDATA%\accert\Logs\   (platformdirs user_log_dir)
;   key passphrases        Windows Credential Manager, service "accert"

#ifndef AppVersion
  #error Pass /DAppVersion=x.y.z (installer/build.py does)
#endif
#ifndef BundleDir
  #define BundleDir "..\dist\accert"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif

[Setup]
; The AppId ties versions together: a newer installer upgrades this install in place.
; Never change it. (The doubled brace is Inno Setup's escape for a literal "{".)
AppId={{6F0D7C1E-3B8A-4C52-9E61-AC0E47C2B5D1}
AppName=accert
AppVersion={#AppVersion}
AppVerName=accert {#AppVersion}
AppPublisher=accert
AppComments=AudioCodes certificate wizard: key, CSR, CA response, exports, deployment
VersionInfoVersion={#AppVersion}
; Per user, never elevated: {autopf} is then %LOCALAPPDATA%\Programs, {autoprograms} the
; user's own Start menu, and the uninstaller is registered under HKCU.
PrivilegesRequired=lowest
DefaultDirName={autopf}\accert
DisableDirPage=auto
DisableProgramGroupPage=yes
UsePreviousAppDir=yes
; A running accert is asked to close before files are replaced (Restart Manager).
CloseApplications=yes
RestartApplications=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=accert-setup-{#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName=accert {#AppVersion}
UninstallDisplayIcon={app}\accert-wizard.exe
#ifdef IconFile
SetupIconFile={#IconFile}
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[InstallDelete]
; Upgrade in place: drop the previous version's libraries first, so no stale module survives.
; User data is not under {app} (see the top of this file) and is never deleted.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\accert"; Filename: "{app}\accert-wizard.exe"; \
    Comment: "Renew the TLS certificate of AudioCodes SBCs, gateways and OVOC"
Name: "{autoprograms}\accert estate dashboard"; Filename: "{app}\accert-wizard.exe"; \
    Parameters: "--dashboard"; \
    Comment: "Every SBC and OVOC certificate in the estate, and when it expires"

[Run]
Filename: "{app}\accert-wizard.exe"; Description: "Start accert"; \
    Flags: nowait postinstall skipifsilent
