# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command"]
RUN Write-Host one; `
    `
    Write-Host two `   
    # comment between
    ; Write-Host three
COPY C:\src\app C:\app\
WORKDIR C:\app
RUN echo "a ``quoted`` b" `
  c
ENV PATH="C:\app;${PATH}"
