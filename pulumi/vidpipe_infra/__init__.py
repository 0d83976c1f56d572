"""Components of the vidpipe Pulumi program, one per concern.

The package has its own name (not `pulumi`) so that it never shadows the Pulumi SDK.
"""
