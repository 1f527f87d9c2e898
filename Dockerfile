# Challenge convention: the code in /challenge, dependencies from requirements.txt; the versions are
# the ones CI tested (requirements.lock as constraints).  The dependencies are installed before the
# code is copied, so a change to the code rebuilds only the last layer.
FROM python:3.11-slim

RUN mkdir /challenge
WORKDIR /challenge

COPY requirements.txt requirements.lock /challenge/
RUN pip install --no-cache-dir -r requirements.txt -c requirements.lock

COPY ./ /challenge
