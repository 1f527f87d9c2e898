FROM python:3.11-slim

## Dependencies first, at the versions CI tested (requirements.lock as constraints), in a layer of
## their own: a change to the code then rebuilds only the layers after the Challenge's lines below.
COPY requirements.txt requirements.lock /tmp/requirements/
RUN pip install --no-cache-dir -r /tmp/requirements/requirements.txt -c /tmp/requirements/requirements.lock

## The 2021 Challenge's three lines, as its example Dockerfile has them ("DO NOT EDIT"): the code in
## /physionet, which is also the working directory the organisers' commands run in.
RUN mkdir /physionet
COPY ./ /physionet
WORKDIR /physionet

## The Challenge's install line; everything is installed already, so pip only checks.
RUN pip install --no-cache-dir -r requirements.txt -c requirements.lock
