"""The projection path: following the store's log into finding and account-view rows.

Runs in worker processes of its own (the projector, a rebuild's workers), so nothing here
imports the web stack.
"""
