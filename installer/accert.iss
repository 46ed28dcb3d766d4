; Inno Setup 6 script: the PyInstaller folder, per user by default, per machine on request.
; Built by `python installer/build.py --installer`, which passes:
;   /DAppVersion=0.2.0rc1  /DAppVersionNumbers=0.2.0.0  /DBundleDir=...\dist\accert
;   /DOutputDir=...\dist  [/DIconFile=....ico]
;
; Two install modes (Inno Setup's own switches):
;   per user (default, no administrator)  %LOCALAPPDATA%\Programs\accert, HKCU, own Start menu
;   per machine: /ALLUSERS (or "Install for all users" when asked), elevated
;                                          %ProgramFiles%\accert, HKLM, the common Start menu
; Intune, SCCM and other deployment tools run installers as SYSTEM: without /ALLUSERS a per-user
; install would land in the SYSTEM account's profile, where no user ever sees it.
; The "addtopath" task (on by default) adds the folder to the user's PATH (per machine: the
; system PATH), so `accert ...` works in any new terminal; the uninstaller takes it out again.
;
; Where things live (none of it under {app}, so upgrades and uninstalls never touch it):
;   renewals (workspaces)  Documents\accert\            (app.paths.workspaces_root)
;   settings, pins         %LOCALAPPDATA%\accert\        (platformdirs user_config_dir)
;   logs, crash.log        %LOCALAPPDATA%\accert\Logs\   (platformdirs user_log_dir)
;   key passphrases        Windows Credential Manager, service "accert"

#ifndef AppVersion
  #error Pass /DAppVersion=x.y.z (installer/build.py does)
#endif
#ifndef AppVersionNumbers
  ; Four numbers only (VersionInfoVersion refuses 0.2.0rc1): installer/versions.py makes them.
  #error Pass /DAppVersionNumbers=x.y.z.w (installer/build.py does)
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
VersionInfoVersion={#AppVersionNumbers}
VersionInfoProductTextVersion={#AppVersion}
; Per user by default, never elevated: {autopf} is then %LOCALAPPDATA%\Programs, {autoprograms}
; the user's own Start menu, the uninstaller registered under HKCU. /ALLUSERS on the command line
; (or the choice offered when run by hand) installs per machine: {autopf} is Program Files,
; {autoprograms} the common Start menu, HKLM. An upgrade keeps the mode it was installed in.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=commandline dialog
UsePreviousPrivileges=yes
ChangesEnvironment=yes
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

[Tasks]
Name: "addtopath"; Description: "Add accert to the &PATH (use `accert` in any new terminal)"

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

[Registry]
; The folder is appended once (NeedsAddPath); per user the user's PATH, per machine the system's.
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; \
    ValueData: "{olddata};{app}"; Tasks: addtopath; \
    Check: (not IsAdminInstallMode) and NeedsAddPath(ExpandConstant('{app}'))
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; \
    ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; \
    Check: IsAdminInstallMode and NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\accert-wizard.exe"; Description: "Start accert"; \
    Flags: nowait postinstall skipifsilent

[Code]
function EnvironmentRoot: Integer;
begin
  if IsAdminInstallMode then
    Result := HKEY_LOCAL_MACHINE
  else
    Result := HKEY_CURRENT_USER;
end;

function EnvironmentKey: String;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

{ Where Dir is in the ';'-separated Paths (1-based, in Paths), or 0; in any case. }
function PathIndex(Paths, Dir: String): Integer;
begin
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Paths) + ';');
end;

function NeedsAddPath(Dir: String): Boolean;
var
  Paths: String;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Paths) then
    Result := True
  else
    Result := PathIndex(Paths, Dir) = 0;
end;

procedure RemoveFromPath(Dir: String);
var
  Paths: String;
  Index: Integer;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Paths) then
    exit;
  Index := PathIndex(Paths, Dir);
  if Index = 0 then
    exit;
  { The entry starts at Paths[Index]; the ';' before it (if any) goes with it. }
  if Index = 1 then
    Delete(Paths, 1, Length(Dir) + 1)
  else
    Delete(Paths, Index - 1, Length(Dir) + 1);
  RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Paths);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
