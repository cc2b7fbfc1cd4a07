@echo off
rem Nightly headless recalculation of the shared HMIS licensing workbook (Windows).
rem
rem Set WORKBOOK below (a \\server\share path: a scheduled task has no mapped drive
rem letters) and HMIS_LICENSING to the hmis-licensing.exe of your install, then schedule
rem it with Task Scheduler (README, "Nightly recalculation"). Leave the Settings sheet's
rem As Of blank, so that each run judges its own day.
rem
rem Each run keeps a dated copy of the workbook, then runs recalc. If the workbook cannot
rem be written (open in Excel: exit 2, nothing written) it tries again every 10 minutes,
rem 6 times in all; a bad policy (exit 2, the Problems sheet written) is not retried.
rem Exit code: recalc's (0 done, 1 errors in the workbook, 2 could not run).
setlocal
if not defined WORKBOOK set "WORKBOOK=\\server\share\HMIS\hmis-licensing.xlsx"
if not defined HMIS_LICENSING set "HMIS_LICENSING=%USERPROFILE%\hmis-licensing\.venv\Scripts\hmis-licensing.exe"
if not defined LOGDIR set "LOGDIR=%~dp0hmis-licensing-logs"
if not exist "%LOGDIR%\backups" mkdir "%LOGDIR%\backups"
for /f %%d in ('powershell -NoProfile -Command "Get-Date -Format yyyy-MM-dd"') do set "STAMP=%%d"
set "LOG=%LOGDIR%\recalc-%STAMP%.log"

echo == %DATE% %TIME% %WORKBOOK% >> "%LOG%"
copy /y "%WORKBOOK%" "%LOGDIR%\backups\hmis-licensing-%STAMP%.xlsx" >> "%LOG%" 2>&1
if errorlevel 1 (echo FAILED: cannot read %WORKBOOK% >> "%LOG%" & exit /b 2)
rem Keep the newest 30 copies.
powershell -NoProfile -Command "Get-ChildItem '%LOGDIR%\backups\*.xlsx' | Sort-Object LastWriteTime -Descending | Select-Object -Skip 30 | Remove-Item"

set TRIES=0
:again
set /a TRIES+=1
"%HMIS_LICENSING%" recalc "%WORKBOOK%" > "%LOG%.run" 2>&1
set CODE=%ERRORLEVEL%
type "%LOG%.run" >> "%LOG%"
rem Exit 2 with a "Wrote:" line is a bad policy (the Problems sheet says so): not retried.
findstr /b /c:"Wrote:" "%LOG%.run" > nul
set WROTE=%ERRORLEVEL%
del "%LOG%.run"
if "%CODE%"=="2" if not "%WROTE%"=="0" if %TRIES% lss 6 (
  echo try %TRIES% of 6 could not write the workbook ^(open in Excel?^) >> "%LOG%"
  timeout /t 600 /nobreak > nul
  goto again
)
echo exit %CODE% >> "%LOG%"
exit /b %CODE%
