"""Decoding the raw facts of a report into named ones: CPU identity, MSR fields, VMX capabilities, the guest.

``facts.decode_cpu()`` decodes one CPU's report once; the verdict, advice and
renderers read the result.
"""
