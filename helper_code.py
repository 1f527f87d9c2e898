#!/usr/bin/env python
"""Helper functions with the names and behaviour of the Challenge 2021 helper_code.py.

The organisers replace this file with their own copy, so nothing in this
project depends on it beyond those official functions; the project's own,
more tolerant reader lives in ecgcinc.io.records.  Like the official helpers,
these read only original-style headers (`#Dx:`, `#Age:`, gains `1000/mV`).
"""
import os

import numpy as np

_STANDARD_ORDER = ('I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6')


def is_number(x):
    try:
        float(x)
    except (ValueError, TypeError):
        return False
    return True


def is_integer(x):
    return is_number(x) and float(x).is_integer()


def is_finite_number(x):
    return is_number(x) and bool(np.isfinite(float(x)))


def sort_leads(leads):
    """Standard leads in 12-lead order, then any others in their given order."""
    leads = list(leads)
    order = {lead: i for i, lead in enumerate(_STANDARD_ORDER)}
    return tuple(sorted(leads, key=lambda lead: order.get(lead, len(order) + leads.index(lead))))


def find_challenge_files(data_directory):
    header_files, recording_files = [], []
    for name in sorted(os.listdir(data_directory)):
        root, extension = os.path.splitext(name)
        if root.startswith('.') or extension != '.hea':
            continue
        header_file = os.path.join(data_directory, root + '.hea')
        recording_file = os.path.join(data_directory, root + '.mat')
        if os.path.isfile(header_file) and os.path.isfile(recording_file):
            header_files.append(header_file)
            recording_files.append(recording_file)
    return header_files, recording_files


def load_header(header_file):
    with open(header_file, 'r') as f:
        return f.read()


def load_recording(recording_file, header=None, leads=None, key='val'):
    from scipy.io import loadmat
    recording = loadmat(recording_file)[key]
    if header and leads:
        recording = choose_leads(recording, header, leads)
    return recording


def choose_leads(recording, header, leads):
    available = get_leads(header)
    chosen = np.zeros((len(leads), np.shape(recording)[1]), recording.dtype)
    for i, lead in enumerate(leads):
        if lead in available:
            chosen[i, :] = recording[available.index(lead), :]
    return chosen


def _first_line_field(header, position, convert):
    try:
        return convert(header.split('\n')[0].split(' ')[position])
    except (IndexError, ValueError):
        return None


def get_recording_id(header):
    return _first_line_field(header, 0, str)


def _signal_lines(header):
    lines = header.split('\n')
    num_leads = int(lines[0].split(' ')[1])
    return [line.split(' ') for line in lines[1:1 + num_leads]]


def get_leads(header):
    return tuple(entries[-1] for entries in _signal_lines(header))


def _comment_value(header, key):
    value = None
    for line in header.split('\n'):
        if line.startswith(key):
            parts = line.split(': ')
            value = parts[1].strip() if len(parts) > 1 else ''
    return value


def get_age(header):
    value = _comment_value(header, '#Age')
    if value is None:
        return None
    return float(value) if is_number(value) else float('nan')


def get_sex(header):
    value = _comment_value(header, '#Sex')
    return value if value else None


def get_num_leads(header):
    return _first_line_field(header, 1, float)


def get_frequency(header):
    return _first_line_field(header, 2, float)


def get_num_samples(header):
    return _first_line_field(header, 3, float)


def _per_lead_field(header, leads, position, parse):
    values = np.zeros(len(leads))
    for entries in _signal_lines(header):
        if entries[-1] in leads:
            try:
                values[leads.index(entries[-1])] = parse(entries[position])
            except (IndexError, ValueError):
                pass
    return values


def get_adc_gains(header, leads):
    return _per_lead_field(header, leads, 2, lambda entry: float(entry.split('/')[0]))


def get_baselines(header, leads):
    return _per_lead_field(header, leads, 4, lambda entry: float(entry.split('/')[0]))


def get_labels(header):
    labels = []
    for line in header.split('\n'):
        if line.startswith('#Dx'):
            parts = line.split(': ')
            if len(parts) > 1:
                labels.extend(entry.strip() for entry in parts[1].split(','))
    return labels


def save_outputs(output_file, recording_id, classes, labels, probabilities):
    text = '#{}\n{}\n{}\n{}\n'.format(recording_id, ','.join(str(c) for c in classes),
                                      ','.join(str(v) for v in labels), ','.join(str(p) for p in probabilities))
    with open(output_file, 'w') as f:
        f.write(text)


def load_outputs(output_file):
    recording_id = classes = labels = probabilities = None
    with open(output_file, 'r') as f:
        lines = f.readlines()  # lines keep their newline; the official record id does too
    for i, line in enumerate(lines[:4]):
        if i == 0:
            recording_id = line[1:] if len(line) > 1 else None
        elif i == 1:
            classes = tuple(entry.strip() for entry in line.split(','))
        elif i == 2:
            labels = tuple(entry.strip() for entry in line.split(','))
        else:
            probabilities = tuple(float(entry) if is_finite_number(entry) else float('nan')
                                  for entry in line.split(','))
    return recording_id, classes, labels, probabilities
