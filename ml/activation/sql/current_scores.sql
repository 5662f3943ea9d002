-- The scoring run the enriched profiles carry, and its cutoff.
select
    scoring_run_id,
    score_cutoff_at
from {profiles_enriched}
where has_score
limit 1
