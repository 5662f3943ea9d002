-- Realised conversion by score decile: the ingested scores of one run joined
-- to the synthetic truth of the window after its as_of, lowest decile first.
select
    scores.decile,
    count(*),
    avg(truth.is_converted::int)::float8,
    avg(scores.propensity)::float8,
    avg(truth.p_true)::float8
from {propensity_scores} as scores
inner join {synthetic_truth} as truth
    on
        truth.profile_id = scores.profile_id
        and truth.window_start = scores.as_of
where
    scores.model_name = %s
    and scores.model_version = %s
    and scores.as_of = %s
group by scores.decile
order by scores.decile
