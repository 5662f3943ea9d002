-- Parameters: batch id, audience id; the consent column is the channel's.
insert into _members
select
    members.profile_id,
    members.is_holdout,
    coalesce(profiles.{consent}, false),
    suppressions.profile_id is not null
from {audience_memberships} as members
left join {profiles_enriched} as profiles
    on profiles.profile_id = members.profile_id
left join {audience_suppressions} as suppressions
    on suppressions.profile_id = members.profile_id
where
    members.batch_id = %s
    and members.audience_id = %s
