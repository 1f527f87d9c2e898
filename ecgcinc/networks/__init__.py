"""The Keras networks (ResNet with class-wise attention, CNN+BiLSTM, beat branch, gradient
reversal), their losses and the loss weights Mw and Md.  Keras loads only through framework.py.
"""
