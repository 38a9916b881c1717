"""wireless alert rules: at least 8 h between notifications for the same radio (issue 20.5)

Organizations that got the wireless alert rules before issue 20 keep them as they were
seeded: "Network HIGH or CRITICAL" and "New follower" with no cooldown, so a radio could
notify at every rescore. New organizations get 8 h (AirGuard's gap between notifications for
one device, app/wireless/alert_rules.REPEAT_GAP_SECONDS). This data migration raises every
stored rule of those two types that waits less than 8 h to 8 h; a longer cooldown someone
chose stays. The downgrade puts the previous default (no cooldown) back on the rules at
exactly 8 h (the previous code seeded 0, and cannot tell a migrated rule from one set by hand).

Revision ID: 0034
Revises: 0028
Create Date: 2026-12-07 19:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0034'
down_revision = '0028'
branch_labels = None
depends_on = None

GAP = 8 * 3600
PREVIOUS = 0
RULE_TYPES = ('network_high', 'follower_new')
OLD_FOLLOWER_TEXT = "The scorer finds a network following you."
NEW_FOLLOWER_TEXT = ("The scorer finds a network following you (over days, or AirGuard's same-day test); "
                     "at least 8 h between notifications for one radio.")

rules = sa.table('alert_rules', sa.column('domain', sa.String), sa.column('rule_type', sa.String),
                 sa.column('cooldown_seconds', sa.Integer), sa.column('description', sa.Text))
wireless = sa.and_(rules.c.domain == 'wireless', rules.c.rule_type.in_(RULE_TYPES))


def upgrade():
    op.execute(rules.update().where(wireless, rules.c.cooldown_seconds < GAP).values(cooldown_seconds=GAP))
    op.execute(rules.update().where(wireless, rules.c.rule_type == 'follower_new',
                                    rules.c.description == OLD_FOLLOWER_TEXT).values(description=NEW_FOLLOWER_TEXT))


def downgrade():
    op.execute(rules.update().where(wireless, rules.c.cooldown_seconds == GAP).values(cooldown_seconds=PREVIOUS))
    op.execute(rules.update().where(wireless, rules.c.rule_type == 'follower_new',
                                    rules.c.description == NEW_FOLLOWER_TEXT).values(description=OLD_FOLLOWER_TEXT))
