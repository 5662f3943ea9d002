-- The realised conversion rate of every scored profile in the simulated
-- future after the cutoff (synthetic data only).
select avg(truth.is_converted::int)::float8
from {profiles_enriched} as profiles
inner join {synthetic_truth} as truth
    on
        truth.profile_id = profiles.profile_id
        and truth.window_start = %s
where profiles.has_score
