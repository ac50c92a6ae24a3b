"""Infrastructure as code for AWS (AWS CDK in Python): `python -m infra.aws.app` synthesizes it.

The CDK runs its constructs in Node (jsii).  These machines have Node 20, past its end of life
for jsii since 2026-10; it still works, so its banner on every import is silenced here (set the
variable yourself to see it).
"""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
