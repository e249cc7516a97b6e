; Inno Setup script for ccdesk on Windows: installs the one-folder app (dist\ccdesk, built by
; ccdesk.spec) for the current user, with Start-menu entries for the window (ccdesk) and the
; command line (ccdesk-cli, in a console, for scripts and scheduled jobs).
;
; From the checkout root, after the build (the release workflow does this):
;   iscc /DAppVersion=0.1.0 resources\packaging\ccdesk.iss   → dist\ccdesk-0.1.0-windows-x64-setup.exe
;
; Uninstalling removes the program folder and the Start-menu entries. It leaves the person's
; data (journal, logs, settings under %LOCALAPPDATA%\ccdesk) and the "ccdesk" entry in
; Credential Manager: the README says how to remove those.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\ccdesk"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\ccdesk\ccdesk.ico"
#endif

[Setup]
; The AppId identifies ccdesk to Windows' "Installed apps" across versions: never change it.
AppId={{713F19FE-CF23-41DB-9806-AB978BC072A2}
AppName=ccdesk
AppVersion={#AppVersion}
AppVerName=ccdesk {#AppVersion}
AppPublisher=ccdesk
DefaultDirName={autopf}\ccdesk
DefaultGroupName=ccdesk
DisableProgramGroupPage=yes
; Per user by default (no administrator needed); an administrator may choose all users, in the
; dialog or on the command line (IT: ccdesk-…-setup.exe /VERYSILENT /ALLUSERS).
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=commandline dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=ccdesk-{#AppVersion}-windows-x64-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\ccdesk.exe
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
; ccdesk may be open (or a scheduled ccdesk-cli running) during an update: ask to close it.
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An update replaces the bundled libraries whole: files of the previous version must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{group}\ccdesk"; Filename: "{app}\ccdesk.exe"; WorkingDir: "{userdocs}"
; ccdesk-cli opened in a console that stays open, showing its help (it is a command line tool).
Name: "{group}\ccdesk-cli (command line)"; Filename: "{cmd}"; Parameters: "/k ""{app}\ccdesk-cli.exe"" --help"; WorkingDir: "{userdocs}"; IconFilename: "{app}\ccdesk-cli.exe"
Name: "{group}\Uninstall ccdesk"; Filename: "{uninstallexe}"
Name: "{autodesktop}\ccdesk"; Filename: "{app}\ccdesk.exe"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Run]
Filename: "{app}\ccdesk.exe"; Description: "{cm:LaunchProgram,ccdesk}"; Flags: nowait postinstall skipifsilent
