insert into {audience_suppressions} (profile_id, reason)
values (%s, %s)
on conflict (profile_id) do nothing
