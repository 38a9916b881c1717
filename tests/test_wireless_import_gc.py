"""The import's raised garbage-collection threshold is the process's: overlapping imports
must put back what the process had, whichever ends first."""
import gc

from app.wireless.imports import YOUNG_GC, fewer_collections


def test_overlapping_imports_put_back_the_thresholds_the_process_had():
    before = gc.get_threshold()
    first, second = fewer_collections(), fewer_collections()
    first.__enter__()
    second.__enter__()
    assert gc.get_threshold()[0] == max(before[0], YOUNG_GC)
    first.__exit__(None, None, None)  # the first import ends while the second still runs
    assert gc.get_threshold()[0] == max(before[0], YOUNG_GC)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
