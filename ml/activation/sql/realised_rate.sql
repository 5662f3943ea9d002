-- The realised conversion rate of one audience's members (synthetic data).
select avg(truth.is_converted::int)::float8
from {partition} as members
inner join {synthetic_truth} as truth
    on
        truth.profile_id = members.profile_id
        and truth.window_start = %s
where members.audience_id = %s
