"""Reasons for leaving become rows staff word and order: the schema (0015 fills it, 0016 finishes).
Three migrations: PostgreSQL refuses to alter a table in the transaction that updated its rows."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0013_texts_in_french'),
    ]

    operations = [
        migrations.CreateModel(
            name='LeavingReasonChoice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(max_length=100, verbose_name='label')),
                ('label_fr', models.CharField(blank=True, db_default='', default='', max_length=100, verbose_name='label (French)')),
                ('position', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                ('active', models.BooleanField(default=True, help_text='Shown to contacts who unsubscribe.', verbose_name='offered')),
                ('asks_text', models.BooleanField(default=False, editable=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['position', 'id'],
                'constraints': [
                    models.UniqueConstraint(condition=models.Q(('asks_text', True)), fields=('asks_text',), name='one_reason_asks_text'),
                    models.CheckConstraint(condition=models.Q(('label', ''), _negated=True), name='reason_label_not_empty'),
                ],
            },
        ),
        migrations.RemoveConstraint(
            model_name='unsubscribefeedback',
            name='feedback_reason_known',
        ),
        migrations.AlterField(
            model_name='unsubscribefeedback',
            name='reason',
            field=models.CharField(blank=True, default='', max_length=20),
        ),
        migrations.AddField(
            model_name='unsubscribefeedback',
            name='choice',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='answers', to='messaging.leavingreasonchoice'),
        ),
        migrations.AddField(
            model_name='unsubscribefeedback',
            name='label',
            field=models.CharField(default='', max_length=100),
            preserve_default=False,
        ),
    ]
