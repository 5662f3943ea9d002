-- Every profile of the store, and those with a current score.
select
    count(*),
    count(*) filter (where has_score)
from {profiles_enriched}
