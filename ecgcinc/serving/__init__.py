"""A trained model folder put to work: its files and card, the predictor the harness and
`ecgcinc classify` call, the driver's loop, the ONNX export and the attention maps.
"""
