insert into {audience_build_audiences} (
    batch_id,
    audience_id,
    rule,
    holdout_percent,
    count_members,
    count_holdout,
    count_entered,
    count_exited,
    count_stayed,
    expected_conversions,
    realised_rate,
    base_rate
)
values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
