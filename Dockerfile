# Challenge convention: the code in /challenge, dependencies from requirements.txt.
FROM python:3.11-slim

RUN mkdir /challenge
COPY ./ /challenge
WORKDIR /challenge

RUN pip install --no-cache-dir -r requirements.txt
