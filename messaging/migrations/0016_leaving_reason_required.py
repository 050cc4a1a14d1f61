"""Every answer now names its choice: the old fixed value goes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0015_leaving_reasons_seed'),
    ]

    operations = [
        migrations.AlterField(
            model_name='unsubscribefeedback',
            name='choice',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='answers', to='messaging.leavingreasonchoice'),
        ),
        migrations.RemoveField(
            model_name='unsubscribefeedback',
            name='reason',
        ),
    ]
