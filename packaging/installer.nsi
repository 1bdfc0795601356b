; The copier_gui installer: wraps the one-folder build (dist/copier-gui/) into one setup .exe.
;
; Per user, without admin rights: installs to %LOCALAPPDATA%\Programs\copier-gui, adds a Start
; Menu shortcut and an uninstall entry under HKCU. Installing over an existing installation is
; an upgrade in place. Settings, the journal and logs live in the user data folder
; (%LOCALAPPDATA%\copier_gui, see copier_gui/paths.py), never in the install folder, so neither
; an upgrade nor the uninstaller touches them.
;
; Build from the repository root after PyInstaller (makensis runs on Windows and Linux):
;   makensis -DVERSION=0.1.0 -DFILE_VERSION=0.1.0.0 packaging/installer.nsi
; Output: dist/copier-gui-<VERSION>-setup.exe. Silent install: setup.exe /S (upgrade the same way).
; packaging/build_windows.ps1 and packaging/wine-smoke.sh pass both versions from
; packaging/version_resource.py, so they always match copier_gui.__version__.

; 64-bit like the application (MetaTrader 5 and its Python package are x64 only); also
; what a 64-bit-only Wine runs in the smoke test.
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel user
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "Pass the version: makensis -DVERSION=x.y.z -DFILE_VERSION=x.y.z.0 packaging/installer.nsi"
!endif
!ifndef FILE_VERSION
  !error "Pass the four-part file version: -DFILE_VERSION=x.y.z.0"
!endif
; Paths are relative to this file's folder (makensis changes into it).
!ifndef DIST_DIR
  !define DIST_DIR "../dist"
!endif

!define APP_NAME "copier_gui"
!define APP_FOLDER "copier-gui"
!define WINDOWED_EXE "copier-guiw.exe"
!define CONSOLE_EXE "copier-gui.exe"
!define UNINSTALLER "uninstall.exe"
!define PUBLISHER "copier_gui developers"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP_FOLDER}"
!define SETTINGS_KEY "Software\${APP_NAME}"

!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

Name "${APP_NAME} ${VERSION}"
OutFile "${DIST_DIR}/${APP_FOLDER}-${VERSION}-setup.exe"
InstallDir "$LOCALAPPDATA\Programs\${APP_FOLDER}"
; An upgrade goes where the previous version was installed, even if the user chose another folder.
InstallDirRegKey HKCU "${SETTINGS_KEY}" "InstallDir"
BrandingText "${APP_NAME} ${VERSION}"

VIProductVersion "${FILE_VERSION}"
VIFileVersion "${FILE_VERSION}"
VIAddVersionKey /LANG=1033 "ProductName" "${APP_NAME}"
VIAddVersionKey /LANG=1033 "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=1033 "FileDescription" "${APP_NAME} installer"
VIAddVersionKey /LANG=1033 "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=1033 "LegalCopyright" "MIT License, ${PUBLISHER}"

!define MUI_ICON "../resources/app.ico"
!define MUI_UNICON "../resources/app.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${WINDOWED_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_NAME}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; A running copier_gui holds its files open, and half-replaced files would not start again.
; Deleting the executables fails while either runs: ask to close it (a silent install gives up).
!macro CLOSE_RUNNING_APP UN
Function ${UN}CloseRunningApp
  retry:
    ClearErrors
    ${If} ${FileExists} "$INSTDIR\${WINDOWED_EXE}"
      Delete "$INSTDIR\${WINDOWED_EXE}"
    ${EndIf}
    ${If} ${FileExists} "$INSTDIR\${CONSOLE_EXE}"
      Delete "$INSTDIR\${CONSOLE_EXE}"
    ${EndIf}
    ${If} ${Errors}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION \
        "${APP_NAME} is running. Close it (in the window, or its tray icon's Quit), then click Retry." \
        /SD IDCANCEL IDRETRY retry
      Abort "${APP_NAME} is still running; nothing was changed."
    ${EndIf}
FunctionEnd
!macroend
!insertmacro CLOSE_RUNNING_APP ""
!insertmacro CLOSE_RUNNING_APP "un."

Section "${APP_NAME}" SecApp
  SectionIn RO
  SetShellVarContext current
  Call CloseRunningApp
  ; The previous version's libraries go first, so none of them outlives an upgrade. This is the
  ; application's own folder; the user's data is elsewhere.
  RMDir /r "$INSTDIR\_internal"

  SetOutPath "$INSTDIR"
  File "${DIST_DIR}/${APP_FOLDER}/${WINDOWED_EXE}"
  File "${DIST_DIR}/${APP_FOLDER}/${CONSOLE_EXE}"
  File /r "${DIST_DIR}/${APP_FOLDER}/_internal"
  WriteUninstaller "$INSTDIR\${UNINSTALLER}"

  CreateShortcut "$SMPROGRAMS\${APP_NAME}.lnk" "$INSTDIR\${WINDOWED_EXE}" "" \
    "$INSTDIR\${WINDOWED_EXE}" 0 SW_SHOWNORMAL "" "Copy trades from a master account to slaves"

  WriteRegStr HKCU "${SETTINGS_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${WINDOWED_EXE},0"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\${UNINSTALLER}"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\${UNINSTALLER}" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" "$0"
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  Call un.CloseRunningApp
  ; Only what the installer put here: a folder the user chose may hold other files. Settings,
  ; the journal and logs (%LOCALAPPDATA%\copier_gui) stay for a later reinstall.
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${UNINSTALLER}"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APP_NAME}.lnk"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "${SETTINGS_KEY}"
SectionEnd
