"""Where the real third-party sample files live (/work/shared/samples/README.md). They are not
in the repository (the WiGLE files must not be republished), so a checkout finds them beside
itself (main in /work/main, a worktree in /work/wt/NAME), at VIGIL_SAMPLES_DIR, or in
/work/shared/samples: a clean clone anywhere else on the machine still finds them."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [Path(os.environ["VIGIL_SAMPLES_DIR"])] if os.environ.get("VIGIL_SAMPLES_DIR") else []
    candidates += [ROOT.parent / "shared" / "samples", ROOT.parent.parent / "shared" / "samples",
                   Path("/work/shared/samples")]
    return next((path for path in candidates if path.is_dir()), candidates[0])


SAMPLES = _find()
