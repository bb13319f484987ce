"""Files on disk: crash-safe (write, then rename) writes (:mod:`.writes`), free disk space and
memory-mapped arrays (:mod:`.diskspace`), the cache root and its locks (:mod:`.cache_root`), and the
fingerprints of input files (:mod:`.fingerprint`). May import: ``gdynet.base``.
"""
