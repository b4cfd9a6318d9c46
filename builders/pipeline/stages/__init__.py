"""The stages of a build, in the order ``executor.build()`` runs them.

======================  ==========================================================================
``plan``                which units of which sources; the build's fingerprint (``plan.py``)
``indexes``             statute catalog and decontamination index the steps read (``indexes.py``)
``shards``              the recipe's steps over every unit; sorted runs and a marker per shard
                        (``shards.py``)
``dedup``               exact ids, exact user turns and near duplicates across shards
                        (``dedup.py``)
``mix``                 general-domain queries sampled to the recipe's share (``mix.py``)
``split``               the split of every row, decided once (``split.py``)
``write``               runs merged into ``data/<config>/<split>-*.parquet``, ``manifest.json``
                        (``write.py``)
``report``              ``reports/stats.json``, ``reports/contamination.json`` (``report.py``)
``leakage check``       duplicates across the splits of the written files (``leakage.py``)
``card``                ``README.md``, written once, last (``card.py``)
======================  ==========================================================================

Each stage is a small class with a ``name`` and a ``run`` taking and returning typed values
(``BuildPlan``, ``ShardResult``, ``Duplicates``, ``GeneralMix``, ``SplitRule``, ``Written``). Dedup
and mix are decisions the write stage applies row by row as it merges the runs; what they drop goes
through the release's stats and rejects (``release.py``), as a step's drops go through
``Context.reject``.
"""
