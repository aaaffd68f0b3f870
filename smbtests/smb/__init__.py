"""The one adapter around impacket: SMB facts judged from the server's own answers.

Everything impacket raises is mapped here into SmbUnreachableError (the vantage could not talk
SMB to the host at all: unprovable, an error) or into a fact. Facts come from the server's
negotiate response (its SecurityMode, its chosen dialect), never from impacket's client-side
assumptions: impacket forces "signing required" at SMB 3.1.1 whatever the server says
(FIELD-NOTES). `wire` holds connections and negotiates, `session` logins and shares.
"""

from smbtests.smb.session import once_more_if_cut, open_session, smb_answers
from smbtests.smb.wire import (
    DIALECT_CODES,
    DIALECT_NAMES,
    UNSIGNED_PROBE_DIALECT,
    VANTAGE,
    Dial,
    SmbUnreachableError,
    describe,
    direct,
    negotiate_smb1,
    negotiate_smb2,
    silent,
    smb1_verdict,
)

__all__ = [
    "DIALECT_CODES",
    "DIALECT_NAMES",
    "UNSIGNED_PROBE_DIALECT",
    "VANTAGE",
    "Dial",
    "SmbUnreachableError",
    "describe",
    "direct",
    "negotiate_smb1",
    "negotiate_smb2",
    "once_more_if_cut",
    "open_session",
    "silent",
    "smb1_verdict",
    "smb_answers",
]
